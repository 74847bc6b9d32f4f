// Starts Swagger UI on this api's own document. Served as a file, not
// inline, so the docs page's CSP can forbid inline scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The validator badge would call an outside service: off.
    validatorUrl: null,
  });
});
