// ANSI SGR colours in command output → text runs with classes (no markup is parsed).
// Handles the 8/16 colours, bold, dim, italic, underline and reset; other escape
// sequences (cursor movement, 256/true colour) are dropped, keeping the text.

const ESC = /\x1b\[([0-9;]*)([A-Za-z])/g;

/** Returns [{text, cls}] runs; cls is a space-separated class list or "". */
export function ansiRuns(s) {
  if (!s.includes("\x1b")) return [{ text: s, cls: "" }];
  const runs = [];
  let fg = null, bg = null, bold = false, dim = false, italic = false, underline = false;
  let last = 0;
  const cls = () => [fg && `fg-${fg}`, bg && `bg-${bg}`, bold && "b", dim && "dim", italic && "i", underline && "u"].filter(Boolean).join(" ");
  for (const m of s.matchAll(ESC)) {
    if (m.index > last) runs.push({ text: s.slice(last, m.index), cls: cls() });
    last = m.index + m[0].length;
    if (m[2] !== "m") continue;
    const codes = m[1] === "" ? [0] : m[1].split(";").map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) { fg = bg = null; bold = dim = italic = underline = false; }
      else if (c === 1) bold = true;
      else if (c === 2) dim = true;
      else if (c === 3) italic = true;
      else if (c === 4) underline = true;
      else if (c === 22) bold = dim = false;
      else if (c === 23) italic = false;
      else if (c === 24) underline = false;
      else if (c >= 30 && c <= 37) fg = String(c - 30);
      else if (c >= 90 && c <= 97) fg = String(c - 90 + 8);
      else if (c === 39) fg = null;
      else if (c >= 40 && c <= 47) bg = String(c - 40);
      else if (c >= 100 && c <= 107) bg = String(c - 100 + 8);
      else if (c === 49) bg = null;
      else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256 / RGB: skipped
    }
  }
  if (last < s.length) runs.push({ text: s.slice(last), cls: cls() });
  return runs.filter((r) => r.text);
}

/** Strips every escape sequence (for search, copy and downloads). */
export const stripAnsi = (s) => s.replace(ESC, "");
