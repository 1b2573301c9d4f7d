import type { TlsOptions } from '../http/request.js';
import type { RegistryClientOptions } from '../sink/registry/client.js';
import { findCredentials } from '../sink/registry/credentials.js';

/** The command-line options every command that talks to a registry takes. */
export const REGISTRY_FLAGS = {
  creds: { type: 'string' },
  'plain-http': { type: 'boolean' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  'ca-file': { type: 'string' },
} as const;

/** The values of REGISTRY_FLAGS as parseArgs gives them. */
export interface RegistryFlagValues {
  creds?: string;
  'plain-http'?: boolean;
  'insecure-skip-tls-verify'?: boolean;
  'ca-file'?: string;
}

/** How to reach a registry, as the flags say (credentials still to be looked up). */
export interface RegistryAccess {
  creds?: string;
  plainHttp?: boolean;
  tls?: TlsOptions;
}

/** The access the flags ask for. */
export function registryAccess(values: RegistryFlagValues): RegistryAccess {
  const insecure = values['insecure-skip-tls-verify'] === true;
  const caFile = values['ca-file'];
  return {
    ...(values.creds === undefined ? {} : { creds: values.creds }),
    ...(values['plain-http'] === true ? { plainHttp: true } : {}),
    ...(!insecure && caFile === undefined ? {} : { tls: { ...(insecure ? { insecureSkipVerify: true } : {}), ...(caFile === undefined ? {} : { caFile }) } }),
  };
}

/** True when any of the flags is given (for commands that refuse them on a layout). */
export function anyRegistryFlag(access: RegistryAccess): boolean {
  return access.creds !== undefined || access.plainHttp === true || access.tls !== undefined;
}

/** Client options for `registry`: the credentials chain (see credentials.ts), plain http, TLS. */
export async function registryClientOptions(registry: string, access: RegistryAccess): Promise<RegistryClientOptions> {
  const credentials = await findCredentials(registry, access.creds === undefined ? {} : { flag: access.creds });
  return {
    ...(credentials === undefined ? {} : { credentials }),
    ...(access.plainHttp === true ? { plainHttp: true } : {}),
    ...(access.tls === undefined ? {} : { tls: access.tls }),
  };
}
