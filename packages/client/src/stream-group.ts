/**
 * @module stream-group
 * The one event stream of every `<jobcast-progress>` element that uses a client: the union of
 * their unfinished jobs over one connection (`SharedStream`), restarted with each job's cursor
 * when elements come and go. Browsers allow about six HTTP/1.1 connections per origin.
 */
import { type JobcastClient, JobcastError, type JobResource, type WatchEvent } from './index.js';
import { type ConnectionState, SharedStream } from './shared-stream.js';

/** What the group asks of, and tells, each element. */
export interface GroupMember {
  /** Resume cursors of the member's jobs still running. */
  unfinishedCursors(): Record<string, number>;
  receive(event: WatchEvent): void;
  refresh(resource: JobResource): void;
  missing(id: string): void;
  connection(state: ConnectionState): void;
  fail(error: unknown): void;
}

export class StreamGroup {
  static readonly #groups = new WeakMap<JobcastClient, StreamGroup>();
  readonly #elements = new Set<GroupMember>();
  readonly #stream: SharedStream;

  static of(client: JobcastClient): StreamGroup {
    let group = StreamGroup.#groups.get(client);
    if (!group) {
      group = new StreamGroup(client);
      StreamGroup.#groups.set(client, group);
    }
    return group;
  }

  private constructor(client: JobcastClient) {
    const each = (f: (element: GroupMember) => void) => {
      for (const element of this.#elements) f(element);
    };
    this.#stream = new SharedStream({
      client: () => client,
      targets: () => {
        const cursors: Record<string, number> = {};
        for (const element of this.#elements) Object.assign(cursors, element.unfinishedCursors());
        return { ids: Object.keys(cursors), cursors };
      },
      onEvent: (event) => each((element) => element.receive(event)),
      onConnection: (state) => each((element) => element.connection(state)),
      // Which one is gone? Ask for each (REST; refused when the page holds only a stream token).
      onNotFound: async (ids) => {
        await Promise.all(
          ids.map((id) =>
            client.get(id).then(
              (resource) => each((element) => element.refresh(resource)),
              (error: unknown) => {
                if (error instanceof JobcastError && error.status === 404) each((element) => element.missing(id));
              },
            ),
          ),
        );
      },
      onEnded: async () => {},
      onError: (error) => each((element) => element.fail(error)),
      onUnauthorized: () =>
        each((element) => element.fail(new JobcastError(401, { title: 'Unauthorized', status: 401 }))),
    });
  }

  add(element: GroupMember): void {
    this.#elements.add(element);
    this.#stream.restart();
  }

  remove(element: GroupMember): void {
    this.#elements.delete(element);
    if (this.#elements.size === 0) this.#stream.stop();
    else this.#stream.restart();
  }

  /** The jobs to watch changed (an element got new ids, or a job finished). */
  changed(): void {
    this.#stream.restart();
  }
}
