/**
 * Minimal typings of the anywidget front-end API we use (anywidget 0.11),
 * kept local so the bundle has no runtime dependency on anywidget's npm package.
 */
export type Listener = (...args: unknown[]) => void;

export interface AnyModel<T extends object = Record<string, unknown>> {
  get<K extends keyof T & string>(key: K): T[K];
  set<K extends keyof T & string>(key: K, value: T[K]): void;
  save_changes(): void;
  on(event: string, cb: Listener): void;
  off(event?: string | null, cb?: Listener | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  /** Not part of anywidget's typed API but present on the ipywidgets model. */
  readonly model_id?: string;
}

/** anywidget's `experimental` API: request/response with the kernel's `@command` methods. */
export interface Experimental {
  invoke<T>(
    name: string,
    msg?: unknown,
    options?: { buffers?: ArrayBuffer[]; signal?: AbortSignal }
  ): Promise<[T, DataView[]]>;
}

export interface RenderProps<T extends object = Record<string, unknown>> {
  model: AnyModel<T>;
  el: HTMLElement;
  experimental?: Experimental;
}

export type Cleanup = () => void;
export type Render<T extends object = Record<string, unknown>> = (
  props: RenderProps<T>
) => Cleanup | void | Promise<Cleanup | void>;

/** A custom message of ours: `{type, nonce?, ...}`. */
export interface EventMessage {
  type: string;
  nonce?: number;
  [key: string]: unknown;
}

export function isEventMessage(msg: unknown): msg is EventMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    typeof (msg as { type?: unknown }).type === 'string'
  );
}
