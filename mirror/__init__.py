"""A Docker Hub build-status mirror: the status API and badges."""

__version__ = "0.1.0"
SOFTWARE = "dockerhub-build-status"


def make_app(config=None):
    """Build the mirror's Bottle app from a :class:`mirror.config.Config`."""
    from mirror.app import make_app as _make_app

    return _make_app(config)
