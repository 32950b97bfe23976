/**
 * @module web/view-tabs
 * The two views of the jobs card — the jobs started here, and the API key's feed — as ARIA
 * tabs: one shown at a time, arrow keys move between the tabs, the choice lasts for the tab's
 * session (sessionStorage).
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */

const STORAGE_KEY = 'jobcast.page.view.v1';

export class ViewTabs {
  readonly #tabs: HTMLButtonElement[];
  readonly #onChange: (panelId: string) => void;
  readonly #storage: Storage;

  /** `tabs`: buttons with `role="tab"` and `aria-controls` naming their panel. */
  constructor(tabs: HTMLButtonElement[], storage: Storage, onChange: (panelId: string) => void) {
    this.#tabs = tabs;
    this.#storage = storage;
    this.#onChange = onChange;
    for (const [i, tab] of tabs.entries()) {
      tab.addEventListener('click', () => this.select(this.#panelOf(tab)));
      tab.addEventListener('keydown', (event) => {
        const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
        if (!step) return;
        event.preventDefault();
        const next = tabs[(i + step + tabs.length) % tabs.length] as HTMLButtonElement;
        this.select(this.#panelOf(next));
        next.focus();
      });
    }
  }

  /** The panel shown last in this browser tab, if it is one of these. */
  get remembered(): string | undefined {
    try {
      const saved = this.#storage.getItem(STORAGE_KEY);
      return this.#tabs.some((tab) => this.#panelOf(tab) === saved) ? (saved as string) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Shows the panel `panelId` and hides the others. */
  select(panelId: string): void {
    for (const tab of this.#tabs) {
      const selected = this.#panelOf(tab) === panelId;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(this.#panelOf(tab));
      if (panel) panel.hidden = !selected;
    }
    try {
      this.#storage.setItem(STORAGE_KEY, panelId);
    } catch {
      // Storage disabled: the page opens on its first view next time.
    }
    this.#onChange(panelId);
  }

  #panelOf(tab: HTMLButtonElement): string {
    return tab.getAttribute('aria-controls') ?? '';
  }
}
