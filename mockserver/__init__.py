"""epilot-mock: a stateful mock server for epilot's APIs, driven by OpenAPI specs."""

import warnings

# Connexion imports starlette's TestClient at module level, which warns about httpx on every start.
warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
