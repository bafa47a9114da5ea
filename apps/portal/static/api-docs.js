// Shows the town's OpenAPI document with Swagger UI, served by the portal itself (no CDN, no validator).
(function () {
  var holder = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-schema"),
    domNode: holder,
    validatorUrl: null,
    deepLinking: true,
  });
})();
