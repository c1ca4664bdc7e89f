let marked = false;

/**
 * Marks the moment the first view showed its data (`performance.mark("dispatch:first-render")`),
 * once per page load: what the first-render benchmark and the browser tests wait for.
 */
export function markFirstRender(): void {
  if (marked) return;
  marked = true;
  requestAnimationFrame(() => {
    performance.mark("dispatch:first-render");
    document.documentElement.dataset.rendered = "true";
  });
}
