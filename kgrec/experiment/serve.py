"""``kgrec serve``: top-K per user over HTTP, as JSON (the optional ``serve`` extra:
``pip install 'kgrec[serve]'``, Starlette on uvicorn).

Endpoints (ids as the dataset names them; integer ids may be sent as numbers or text):

- ``GET /recommend?user=ID[&user=ID...][&k=10][&exclude=all|train|none][&unknown=error|popular]``
- ``POST /recommend`` with ``{"users": [ID, ...], "k": 10, "exclude": "all", "unknown": "error",
  "candidates": [ID, ...]}`` (every key but ``users`` optional)
- ``GET /health``: ``{"status": "ok", "run": ..., "users": U, "items": I, "k": default k}``

Answers: ``{"k": k, "users": [{"user": ID, "fallback": false, "items": [{"item": ID, "score":
0.93}, ...]}]}`` (:meth:`kgrec.experiment.load.Recommendations.to_dict`). Bad input (a
missing or malformed id, k <= 0) is ``400``, an unknown user ``404``, each with
``{"error": "<one line>"}``. The run is loaded once at start; its embeddings are computed
once, then each request scores its users against every item in one block.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kgrec.errors import KgrecError
from kgrec.experiment.load import TrainedRun, load

EXCLUDE = {"all": True, "train": "train", "none": False}
MAX_USERS = 1000
"""Users one request may ask for (one score block of that many rows)."""


def serve_missing() -> str | None:
    """Why ``kgrec serve`` cannot run here, or None."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return f"kgrec serve needs the serve extra (pip install 'kgrec[serve]'): {exc}"
    return None


def make_app(trained: TrainedRun, k: int = 10):
    """The Starlette application answering for ``trained`` (see the module docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    default_k = k
    trained._embeddings()  # once, before the first request

    def answer(users: list[Any], params: dict[str, Any]) -> JSONResponse:
        try:
            if not users:
                raise KgrecError("no user given (?user=ID, or {\"users\": [...]})")
            if len(users) > MAX_USERS:
                raise KgrecError(f"at most {MAX_USERS} users per request; got {len(users)}")
            k_value = params.get("k", default_k)
            if isinstance(k_value, str):
                if not k_value.strip().lstrip("-").isdigit():
                    raise KgrecError(f"k must be a positive integer; got {k_value!r}")
                k_value = int(k_value)
            exclude = params.get("exclude", "all")
            if exclude not in EXCLUDE:
                raise KgrecError(f"exclude must be all, train or none; got {exclude!r}")
            user_ids = _ids(trained.ids.users, users)
            candidates = params.get("candidates")
            cand = None if candidates is None else _ids(trained.ids.items, candidates, "candidate item id")
            recs = trained.recommend(user_ids, k=k_value, exclude_seen=EXCLUDE[exclude],
                                     candidates=cand, unknown=params.get("unknown", "error"))
        except KgrecError as exc:
            message = " ".join(str(exc).split())
            return JSONResponse({"error": message}, status_code=404 if message.startswith("unknown user")
                                else 400)
        return JSONResponse(recs.to_dict())

    async def recommend_get(request: Request) -> JSONResponse:
        users = request.query_params.getlist("user")
        return await run_in_threadpool(answer, users, dict(request.query_params))

    async def recommend_post(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return JSONResponse({"error": f"the body is not JSON ({exc})"}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("users", []), list):
            return JSONResponse({"error": "the body must be {\"users\": [ID, ...], ...}"}, status_code=400)
        return await run_in_threadpool(answer, body.get("users", []), body)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "run": str(trained.run_dir), "users": trained.data.num_users,
                             "items": trained.data.num_items, "k": default_k,
                             "recommender": trained.config.recommender,
                             "augmenter": trained.config.augmenter})

    return Starlette(routes=[Route("/recommend", recommend_get, methods=["GET"]),
                             Route("/recommend", recommend_post, methods=["POST"]),
                             Route("/health", health, methods=["GET"])])


def _ids(id_map, values: list[Any], what: str | None = None):
    """Ids from a query string (text) or JSON (numbers or text) in the map's type."""
    if not isinstance(values, list):
        raise KgrecError(f"{what or id_map.kind + ' id'}s must be a list")
    if id_map.integer:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return id_map.coerce(values, what)
        if all(isinstance(v, str) for v in values):
            return id_map.parse(values, what)
    return id_map.coerce(values, what)


def serve(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000, k: int = 10,
          device: str = "cpu", log_level: str = "warning", log=print) -> None:
    """Load the run in ``run_dir`` and answer on ``host:port`` until interrupted."""
    missing = serve_missing()
    if missing:
        raise KgrecError(missing)
    import uvicorn

    trained = load(run_dir, device=device)
    app = make_app(trained, k)
    example = trained.ids.users.example()
    log(f"serving {trained.run_dir} ({trained.config.augmenter}+{trained.config.recommender}, "
        f"{trained.data.num_users} users, {trained.data.num_items} items) on http://{host}:{port}; "
        f"try: curl 'http://{host}:{port}/recommend?user={example}&k={k}'")
    uvicorn.run(app, host=host, port=port, log_level=log_level)
