import { AlbaError } from '../errors.js';
import { version } from '../version.js';
import { beQuiet } from './args.js';
import { printError } from './print-error.js';

const USAGE = `alba ${version} — daemonless builder of distroless multi-arch OCI images

Usage:
  alba lock RECIPE [--update] [--mirror M]... [--cache DIR] [--allow-insecure] [--allow-downgrade] [--index-compression auto|xz|gz]
  alba build RECIPE [--out PATH] [--format oci|oci-archive|docker-archive] [--arch a,b] [--cache DIR] [--mirror M]... [--annotation K=V]... [--allow-insecure] [--json]
  alba sbom LAYOUT|REF [--platform P] [--creds USER:PASS] [--plain-http]
  alba container push -t NAME:TAG [-t NAME:TAG]... SRC TARGET [--ref TAG] [--creds USER:PASS] [--plain-http]
                      [--chunk-size N] [--mount-from REPO]... [--concurrency N] [--cache DIR] [--json]
      SRC: an OCI layout or a directory of docker archives; TARGET: docker://HOST[:PORT][/REPO[:TAG]] or oci:DIR
      TARGET may also be s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=R&s3ForcePathStyle=true (a static registry)
  alba build RECIPE ... --push TARGET   builds, then pushes as container push does
  alba container ls -t NAME TARGET [--class release|extra|dev|all] [--json]
  alba container rm -t NAME:TAG TARGET [--untag]   |   alba container gc -t NAME --keep N TARGET [--keep-release|--keep-extra|--keep-dev N]
                      [--older-than 30d] [--grace 1h (s3)] [--dry-run] [--json]   TARGET: s3://… or docker://HOST[/REPO]
  alba static push -t NAME:TAG DIR s3://… [--prefix P] [--json]
      DIR holds <os>/<arch>[/<variant>]/<files>; written under P/NAME/TAG (default prefix df-dist-v1)
  alba static ls|rm|gc ...   as for container, on s3:// (with --prefix)

Options:
  --mirror M        fetch snapshot sources from a mirror, keeping the recipe's URLs in the lock:
                    'apt' (the host's apt sources), a base URL (URL/debian, URL/debian-security)
                    or ARCHIVE=URL; repeatable
  --cache DIR       download and layer cache (default: $XDG_CACHE_HOME/alba or ~/.cache/alba)
  --allow-insecure  accept unsigned or badly signed Release files
  --update          re-resolve even when a lock file exists
  --allow-downgrade accept Release files older than those the lock recorded (refused by default: a rollback)
  --index-compression C  auto (xz from snapshot.debian.org, gz from mirrors), xz or gz: which Packages files to fetch
  --out PATH        output OCI layout (default: out/<name>), or archive file with --format (out/<name>.tar)
  --format F        oci (a layout directory), oci-archive (one tar), docker-archive (docker/podman load; one per platform)
  --arch a,b        build only these architectures of the recipe
  --annotation K=V  add an annotation to the index and manifests (e.g. org.opencontainers.image.revision)
  --json            print one machine-readable JSON object
  --platform P      platform of the SBOM to print (e.g. linux/arm64); default: the index's SBOM
  --creds U:P       registry credentials for a REF (default: $ALBA_REGISTRY_AUTH)
  --plain-http      talk http, not https, to a REF's registry (loopback registries always use http)
  --untag           rm on a registry: remove a tag alone when its digest has other tags (placeholder, as regctl)
  -q, --quiet       print errors and the final result only (no trace, no progress)
  -h, --help        this help
  --version         alba's version
See README.md and docs/recipe.md.`;

/** Each command's module is loaded only when it runs: a push does not pay for OpenPGP or the resolver. */
const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  lock: async () => (await import('./lock-command.js')).lockCommand,
  build: async () => (await import('./build-command.js')).buildCommand,
  sbom: async () => (await import('./sbom-command.js')).sbomCommand,
  container: async () => (await import('./container-command.js')).containerCommand,
  static: async () => (await import('./static-command.js')).staticCommand,
};

async function main(args: string[]): Promise<number> {
  // --quiet (-q) anywhere: errors and the final result only
  const argv = args.filter((a) => a !== '--quiet' && a !== '-q');
  if (argv.length !== args.length) beQuiet();
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    printError(new AlbaError('USAGE', `unknown command "${name}"`, { hint: 'run `alba --help` for the commands' }));
    return 2;
  }
  try {
    await (await command())(rest);
    return 0;
  } catch (err) {
    printError(err);
    return err instanceof AlbaError && err.code === 'USAGE' ? 2 : 1;
  }
}

// A reader that goes away (`alba … | head`) ends alba quietly, as SIGPIPE ends a C program: 128 + 13.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
});

process.exitCode = await main(process.argv.slice(2));
