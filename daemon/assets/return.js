// Posts the answer to the identity provider as soon as the page loads; the button in the
// form does the same for a browser without scripts.
"use strict";
document.getElementById("return")?.submit();
