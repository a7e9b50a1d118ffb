// Build the front-end assets into app/static/dist/ (run with `npm run build`).
//
// Compiles assets/scss/app.scss with dart-sass and copies the GOV.UK Frontend
// JavaScript module and our own images. Nothing is downloaded: everything comes
// from node_modules (installed by `npm ci`) and this repository. GOV.UK-branded
// files (the crown, the crest, the GDS Transport fonts, the GOV.UK favicons)
// are deliberately not copied.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(root, "app", "static", "dist");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "images"), { recursive: true });

const result = sass.compile(join(root, "assets", "scss", "app.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
});
writeFileSync(join(out, "app.css"), result.css);

const copies = [
  [join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js")],
  [join(root, "assets", "js", "app.js"), join(out, "app.js")],
  [join(root, "assets", "images", "favicon.svg"), join(out, "images", "favicon.svg")],
];
for (const [from, to] of copies) {
  copyFileSync(from, to);
}

// Every url() in the stylesheet must point at a file we ship (no GOV.UK fonts or crest).
for (const [, raw] of result.css.matchAll(/url\(([^)]*)\)/g)) {
  const url = raw.replace(/^["']|["']$/g, "");
  if (url.startsWith("data:") || url.startsWith("#")) continue;
  if (!existsSync(join(out, url))) {
    throw new Error(`app.css refers to ${url}, which the build does not ship`);
  }
}

// Content-hashed names (app.3f2a9c1b04.css), so that browsers may keep each file for a year:
// a changed file gets a new name. GOV.UK Frontend first, because app.js imports it by name.
// manifest.json maps each plain name to its hashed one for the templates (app/assets.py).
const manifest = {};
function hashed(name) {
  const path = join(out, name);
  const digest = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 10);
  const ext = extname(name);
  const renamed = join(dirname(name), `${basename(name, ext)}.${digest}${ext}`);
  renameSync(path, join(out, renamed));
  manifest[name] = renamed;
}
hashed("govuk-frontend.min.js");
const appJs = join(out, "app.js");
writeFileSync(
  appJs,
  readFileSync(appJs, "utf8").replace("./govuk-frontend.min.js", `./${manifest["govuk-frontend.min.js"]}`),
);
for (const name of ["app.js", "app.css", "images/favicon.svg"]) {
  hashed(name);
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");

const version = JSON.parse(readFileSync(join(govuk, "..", "..", "package.json"), "utf8")).version;
console.log(
  `Built app/static/dist/ with govuk-frontend ${version}: ` +
    Object.values(manifest).join(", ") +
    ` (app.css ${result.css.length} bytes) and manifest.json`,
);
