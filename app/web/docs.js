// Swagger UI for /docs, from a file rather than an inline script: the page's Content-Security-Policy allows
// scripts from the service only. URLs are relative, so /docs works behind a path prefix too.
"use strict";
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // Swagger UI would send the schema to an online validator
  oauth2RedirectUrl: new URL("docs/oauth2-redirect", document.baseURI).href, // /docs/oauth2-redirect
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
