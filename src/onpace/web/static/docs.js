// Swagger UI on the app's own OpenAPI document; kept in a file so no inline script is needed.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
