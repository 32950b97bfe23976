/**
 * @module context
 * Where the hooks find their client: `<JobcastProvider client={…}>`, or a hook's `client` option.
 */
import type { JobcastClient } from '@jobcast/client';
import { createContext, createElement, type ReactNode, useContext } from 'react';

const ClientContext = createContext<JobcastClient | undefined>(undefined);

/** Gives the hooks below it a client. */
export function JobcastProvider({ client, children }: { client: JobcastClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: client }, children);
}

/** The hook's client: its own option, else the provider's; throws, naming `hook`, without either. */
export function useClient(own: JobcastClient | undefined, hook: string): JobcastClient {
  const fromContext = useContext(ClientContext);
  const client = own ?? fromContext;
  if (!client) throw new Error(`${hook}: give a client (the \`client\` option, or a <JobcastProvider>)`);
  return client;
}
