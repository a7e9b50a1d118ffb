// Progressive enhancement only: every page works without JavaScript.
// Loaded as <script type="module">, so it runs only in browsers that
// GOV.UK Frontend supports; those get its enhanced components.
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
