/**
 * @module web/api-key
 * Signing the page in to a jobcast that requires API keys (`API_KEYS`).
 *
 * The page learns that a key is needed the way any client does: a call answers 401. It then
 * shows the sign-in form in place of the start form, holds back the calls that were refused,
 * and runs them again once a key has been checked with the service. The key is kept in
 * sessionStorage: it is a credential, so it lives in this tab only and is gone when the tab
 * closes. It is never logged, and never written into the page (the field is emptied once the
 * key is accepted). Against an open service nothing is ever refused, and the form never shows.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import { JobcastError } from '../../packages/client/src/index.js';

const STORAGE_KEY = 'jobcast.page.apiKey.v1';
/** What `Authorization: Bearer <key>` can carry (RFC 6750 allows no spaces; fetch only Latin-1). */
const KEY_SHAPE = /^[\x21-\x7e]+$/;

export const isUnauthorized = (error: unknown): boolean => error instanceof JobcastError && error.status === 401;

/** The form's parts, found by the page (`index.html`, `#sign-in`). */
export interface SignInElements {
  panel: HTMLElement;
  form: HTMLFormElement;
  input: HTMLInputElement;
  submit: HTMLButtonElement;
  error: HTMLElement;
  signOut: HTMLButtonElement;
}

export interface ApiKeyGateOptions {
  /** Where the key is kept: the tab's sessionStorage. */
  storage: Storage;
  elements: SignInElements;
  /** Asks the service whether it takes `key`: resolves if it does, rejects (a 401) if not. */
  check(key: string): Promise<unknown>;
  /** The key to send changed: one was accepted, or it was dropped (signed out, or refused). */
  onKey(key: string | undefined): void;
  /** The page started or stopped waiting for a key (the sign-in form is shown, or gone). */
  onWaiting(waiting: boolean): void;
  /** The person signed out: what the page shows and keeps of their jobs must go too. */
  onSignOut(): void;
  /** Words for an error that is not about the key (jobcast unreachable…). */
  reason(error: unknown): string;
}

export class ApiKeyGate {
  readonly #options: ApiKeyGateOptions;
  readonly #ui: SignInElements;
  #key: string | undefined;
  /** Set while the page waits for a key; settles when one is accepted. */
  #wait: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: ApiKeyGateOptions) {
    this.#options = options;
    this.#ui = options.elements;
    this.#key = readKey(options.storage);
    this.#ui.signOut.hidden = this.#key === undefined;
    this.#ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#signIn();
    });
    this.#ui.input.addEventListener('input', () => this.#ui.input.removeAttribute('aria-invalid'));
    this.#ui.signOut.addEventListener('click', () => this.signOut());
  }

  /** The key this tab signed in with, if any. */
  get key(): string | undefined {
    return this.#key;
  }

  /** Whether the page is waiting for a key (calls would only be refused). */
  get waiting(): boolean {
    return this.#wait !== undefined;
  }

  /**
   * Runs an API call; when it is refused (401), asks for a key and runs it again once one is
   * accepted. While the page is waiting for a key, the call waits instead of being refused.
   * `call` must use the client of the moment (the page makes a new one for a new key).
   */
  async authorized<T>(call: () => Promise<T>): Promise<T> {
    for (;;) {
      await this.#wait?.promise;
      const used = this.#key;
      try {
        return await call();
      } catch (error) {
        if (!isUnauthorized(error)) throw error;
        await this.refused(used);
      }
    }
  }

  /**
   * A call sent with `used` (the key in use then, or none) was refused: ask for a key. Resolves
   * once there is a new one, or at once if the key has changed since the call was sent.
   */
  refused(used: string | undefined): Promise<void> {
    if (used !== this.#key) return this.#wait?.promise ?? Promise.resolve();
    if (this.#key !== undefined) {
      // The operator removed or changed the key: it is no use to keep.
      this.#forget();
      this.#showError('The API key this tab used is no longer accepted. Enter a valid one to continue.');
    }
    return this.#ask();
  }

  /**
   * On a service that needs a key, asks for one at once rather than at the first refused call:
   * when this tab keeps none, or keeps one the service no longer takes.
   */
  askEarly(): void {
    const used = this.#key;
    if (used === undefined) void this.refused(undefined);
    else {
      this.#options.check(used).catch((error: unknown) => {
        if (isUnauthorized(error)) void this.refused(used);
      });
    }
  }

  /** Forgets the key, and the page the jobs it kept, and shows the sign-in form. */
  signOut(): void {
    if (this.#key === undefined) return;
    this.#forget();
    this.#options.onSignOut();
    this.#showError(undefined);
    void this.#ask();
  }

  #ask(): Promise<void> {
    if (!this.#wait) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#wait = { promise, resolve };
      this.#ui.panel.hidden = false;
      this.#options.onWaiting(true);
      this.#ui.input.focus();
    }
    return this.#wait.promise;
  }

  async #signIn(): Promise<void> {
    const { input, submit } = this.#ui;
    const key = input.value.trim();
    if (!key) return this.#reject('Enter the API key this jobcast gave you.');
    if (!KEY_SHAPE.test(key)) return this.#reject('An API key is printable ASCII characters, without spaces.');
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      await this.#options.check(key);
    } catch (error) {
      return this.#reject(
        isUnauthorized(error)
          ? 'That API key was not accepted. Check it and try again.'
          : `Could not check the key: ${this.#options.reason(error)}`,
      );
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
    input.value = '';
    input.removeAttribute('aria-invalid');
    this.#showError(undefined);
    this.#key = key;
    writeKey(this.#options.storage, key);
    this.#ui.signOut.hidden = false;
    this.#options.onKey(key);
    const wait = this.#wait;
    this.#wait = undefined;
    this.#ui.panel.hidden = true;
    this.#options.onWaiting(false);
    wait?.resolve();
  }

  #reject(text: string): void {
    this.#ui.input.setAttribute('aria-invalid', 'true');
    this.#showError(text);
    this.#ui.input.select();
    this.#ui.input.focus();
  }

  #forget(): void {
    this.#key = undefined;
    writeKey(this.#options.storage, undefined);
    this.#ui.signOut.hidden = true;
    this.#options.onKey(undefined);
  }

  #showError(text: string | undefined): void {
    this.#ui.error.hidden = text === undefined;
    this.#ui.error.textContent = text ?? '';
  }
}

function readKey(storage: Storage): string | undefined {
  try {
    const key = storage.getItem(STORAGE_KEY);
    return key && KEY_SHAPE.test(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

function writeKey(storage: Storage, key: string | undefined): void {
  try {
    if (key === undefined) storage.removeItem(STORAGE_KEY);
    else storage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage disabled: the key lasts until the page is left, and is asked for again after.
  }
}
