/** Inject a stylesheet once per document (e.g. React Flow's, bundled as text). */
export function injectStyle(id: string, css: string, doc: Document | undefined = globalThis.document): void {
  if (!doc || doc.getElementById(id)) {
    return;
  }
  const style = doc.createElement('style');
  style.id = id;
  style.textContent = css;
  (doc.head ?? doc.documentElement).prepend(style);
}
