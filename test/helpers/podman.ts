import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The environment that makes Debian's podman 4.3 work as root on these machines (as
 * ../shared/peers found): private vfs storage in `dir`, cgroupfs, runc (crun refuses the hybrid
 * cgroup layout), no network, low rlimits (raising them needs CAP_SYS_RESOURCE).
 */
export async function podmanEnv(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      'netns = "none"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'storage.conf'),
    ['[storage]', 'driver = "vfs"', `graphroot = "${join(dir, 'root')}"`, `runroot = "${join(dir, 'run')}"`, ''].join('\n'),
  );
  return { CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
}
