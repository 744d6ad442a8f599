"""The app's routes, one APIRouter per concern; `create_app` (app.py) mounts them."""
