// Swagger UI for the TMF640 document this server serves. validatorUrl: null keeps the page from calling
// the public validator; nothing is loaded from outside this server.
window.ui = SwaggerUIBundle({
  url: "/tmf-api/ServiceActivationAndConfiguration/v4/swagger.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
