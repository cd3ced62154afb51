"""The API's request and response bodies (Pydantic; the OpenAPI document is generated from them),
one module per route family, and how records are shown."""
