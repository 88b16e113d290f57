/**
 * An in-memory anywidget model for tests: traitlets with `change:<key>`
 * events, custom messages both ways, and a record of what the page sent.
 * Behaves like the ipywidgets model anywidget hands a view (Backbone events).
 */
import type { AnyModel, Listener } from '../anywidget';

export interface FakeModel<T extends object> extends AnyModel<T> {
  /** Messages the view sent to Python (`model.send`). */
  sent: unknown[];
  /** How many times the view called `save_changes`. */
  saves: number;
  /** Python sets a traitlet: the value changes and `change:<key>` fires. */
  pySet<K extends keyof T & string>(key: K, value: T[K]): void;
  /** Python sends a custom message. */
  pySend(content: unknown): void;
  /** Number of listeners of `event`. */
  listeners(event: string): number;
  /** Run `hook` once, right before the first listener of `event` is added. */
  beforeFirstSubscribe(event: string, hook: () => void): void;
}

export function fakeModel<T extends object>(state: T): FakeModel<T> {
  const values = { ...state } as T;
  const handlers = new Map<string, Listener[]>();
  const pending = new Map<string, () => void>();
  const emit = (event: string, ...args: unknown[]) => {
    for (const cb of [...(handlers.get(event) ?? [])]) {
      cb(...args);
    }
  };
  const model: FakeModel<T> = {
    sent: [],
    saves: 0,
    model_id: 'fake-model',
    get: key => values[key],
    set(key, value) {
      values[key] = value;
      emit(`change:${key}`, model, value);
    },
    save_changes() {
      model.saves += 1;
    },
    on(event, cb) {
      const hook = pending.get(event);
      if (hook) {
        pending.delete(event);
        hook();
      }
      handlers.set(event, [...(handlers.get(event) ?? []), cb]);
    },
    off(event, cb) {
      if (!event) {
        handlers.clear();
        return;
      }
      handlers.set(
        event,
        (handlers.get(event) ?? []).filter(h => cb && h !== cb)
      );
    },
    send(content) {
      model.sent.push(content);
    },
    pySet(key, value) {
      model.set(key, value);
    },
    pySend(content) {
      emit('msg:custom', content, []);
    },
    listeners: event => (handlers.get(event) ?? []).length,
    beforeFirstSubscribe(event, hook) {
      pending.set(event, hook);
    }
  };
  return model;
}
