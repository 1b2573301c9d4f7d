import type { Command } from 'commander';
import type { TlsOptions } from '../http/request.js';
import type { RegistryClientOptions } from '../sink/registry/client.js';

/** Adds the options every command that talks to a registry takes. */
export function withRegistryOptions(command: Command): Command {
  return command
    .option(
      '--creds <user:password>',
      'registry credentials (else $ALBA_REGISTRY_*, DOCKER_AUTH_CONFIG, CI variables, docker or podman config)',
    )
    .option('--plain-http', 'talk http, not https (loopback registries use http unless a TLS option is given)')
    .option('--ca-file <file>', 'trust the CA certificates of a PEM file too')
    .option('--insecure-skip-tls-verify', 'accept any TLS certificate');
}

/** The values of those options as commander gives them. */
export interface RegistryFlagValues {
  creds?: string;
  plainHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
  caFile?: string;
}

/** How to reach a registry, as the flags say (credentials still to be looked up). */
export interface RegistryAccess {
  creds?: string;
  plainHttp?: boolean;
  tls?: TlsOptions;
}

/** The access the flags ask for. */
export function registryAccess(values: RegistryFlagValues): RegistryAccess {
  const insecure = values.insecureSkipTlsVerify === true;
  const caFile = values.caFile;
  return {
    ...(values.creds === undefined ? {} : { creds: values.creds }),
    ...(values.plainHttp === true ? { plainHttp: true } : {}),
    ...(!insecure && caFile === undefined
      ? {}
      : { tls: { ...(insecure ? { insecureSkipVerify: true } : {}), ...(caFile === undefined ? {} : { caFile }) } }),
  };
}

/** True when any of the flags is given (for commands that refuse them on a layout). */
export function anyRegistryFlag(access: RegistryAccess): boolean {
  return access.creds !== undefined || access.plainHttp === true || access.tls !== undefined;
}

/** Client options for `registry`: the credentials chain (see credentials.ts), plain http, TLS. */
export async function registryClientOptions(
  registry: string,
  access: RegistryAccess,
  onSource?: (registry: string, source: string) => void,
): Promise<RegistryClientOptions> {
  const { locateCredentials } = await import('../sink/registry/credentials.js');
  const { credentials, source } = await locateCredentials(registry, access.creds === undefined ? {} : { flag: access.creds });
  onSource?.(registry, source);
  return {
    ...(credentials === undefined ? {} : { credentials }),
    ...(access.plainHttp === true ? { plainHttp: true } : {}),
    ...(access.tls === undefined ? {} : { tls: access.tls }),
  };
}

/** openSink's and openTagStore's `registry` option for these flags; `onSource` is told which source of the chain gave the credentials (never them). */
export function registryOption(
  values: RegistryFlagValues,
  onSource?: (registry: string, source: string) => void,
): (registry: string) => Promise<RegistryClientOptions> {
  const access = registryAccess(values);
  return (registry) => registryClientOptions(registry, access, onSource);
}
