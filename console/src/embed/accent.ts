/** `#0f766e` or `#0f7` (the product file's form); anything else is ignored rather than put into the page's style. */
const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

function channels(hex: string): [number, number, number] {
  const digits = hex.length === 4 ? [...hex.slice(1)].map((d) => d + d).join('') : hex.slice(1);
  return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16) / 255) as [number, number, number];
}

/** WCAG relative luminance. */
function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

const contrastWithWhite = (hex: string) => 1.05 / (luminance(hex) + 0.05);

/** White or near-black, whichever reads better on the accent (a product may choose a light colour). */
export function textOn(hex: string): string {
  const contrastWithDark = (luminance(hex) + 0.05) / (luminance('#1d2430') + 0.05);
  return contrastWithWhite(hex) >= contrastWithDark ? '#ffffff' : '#1d2430';
}

/** Links in the accent, darkened when the accent is too light to read as text on white (WCAG AA, 4.5:1). */
function linkColourOf(hex: string): string {
  return contrastWithWhite(hex) >= 4.5 ? hex : `color-mix(in srgb, ${hex} 45%, #000)`;
}

/**
 * The product's accent on the whole document (dialogs included): primary buttons, links, the current nav
 * item. The stylesheet derives the darker and lighter shades from it.
 */
export function applyAccent(color: string | null): void {
  const style = document.documentElement.style;
  if (!color || !HEX.test(color)) {
    for (const name of ['--accent', '--on-accent', '--accent-text']) style.removeProperty(name);
    return;
  }
  style.setProperty('--accent', color);
  style.setProperty('--on-accent', textOn(color));
  style.setProperty('--accent-text', linkColourOf(color));
}
