/**
 * What alba uses of undici (Agent, ProxyAgent, Pool and `Dispatcher#request`), loaded from undici's own
 * modules rather than its index.js, whose fetch, WebSocket, EventSource, cache and mock modules
 * cost every network command ~50 ms of start-up (docs/architecture.md, "Where the time goes").
 * The paths are undici 6's layout (pinned in package.json; `test/unit/undici-core.test.ts` fails
 * when they move); putting the request API on Dispatcher's prototype is what its index.js does
 * (ProxyAgent's tunnel uses `connect` from there too). Loaded by the first request.
 */
import type { Agent, Pool, ProxyAgent } from 'undici';

/** The classes alba makes its connection pools with. */
export interface UndiciCore {
  Agent: typeof Agent;
  ProxyAgent: typeof ProxyAgent;
  Pool: typeof Pool;
}

let loaded: Promise<UndiciCore> | undefined;

/** undici's dispatchers, with the request API on them (loaded once). */
export function loadUndici(): Promise<UndiciCore> {
  return (loaded ??= (async () => {
    const [dispatcher, api, agent, proxyAgent, pool] = await Promise.all([
      import('undici/lib/dispatcher/dispatcher.js'),
      import('undici/lib/api/index.js'),
      import('undici/lib/dispatcher/agent.js'),
      import('undici/lib/dispatcher/proxy-agent.js'),
      import('undici/lib/dispatcher/pool.js'),
    ]);
    Object.assign(dispatcher.default.prototype, api.default);
    return { Agent: agent.default, ProxyAgent: proxyAgent.default, Pool: pool.default };
  })());
}
