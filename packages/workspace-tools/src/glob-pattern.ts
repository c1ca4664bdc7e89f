/**
 * Compiles a simple glob to a RegExp: `*` (within a name), `**` (across directories), `?`, and
 * `{a,b}` alternatives. Without a `/` the glob is matched against the file name only, like
 * `grep --include`; with one, against the path relative to the search directory.
 */
export function globToRegExp(glob: string): { regex: RegExp; matchesPath: boolean } {
  let source = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === "*") {
      if (glob[i + 1] === "*") {
        const slash = glob[i + 2] === "/";
        source += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else source += "[^/]*";
    } else if (char === "?") source += "[^/]";
    else if (char === "{") {
      braces++;
      source += "(?:";
    } else if (char === "}" && braces > 0) {
      braces--;
      source += ")";
    } else if (char === "," && braces > 0) source += "|";
    else source += char.replace(/[.+^$()|[\]\\{}]/g, "\\$&");
  }
  source += ")".repeat(braces);
  return { regex: new RegExp(`^${source}$`), matchesPath: glob.includes("/") };
}
