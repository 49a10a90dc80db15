"""Packaging for the mirror, the registry and the browser client.

The version lives in ``mirror/__init__.py`` alone and is read from there.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
REPOSITORY = "https://github.com/dockerhub-build-status/dockerhub-build-status"
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (HERE / "mirror" / "__init__.py").read_text(encoding="utf-8"),
    re.M,
).group(1)

INSTALL_REQUIRES = [
    "bottle>=0.13",
    "waitress>=3.0.1",
    "requests>=2.31",
    "cachetools>=5.0",
    "cryptography>=42",
    "prometheus_client>=0.17",
]

TEST_REQUIRES = [
    "pytest>=7",
    "webtest>=3.0",
    "responses>=0.23",
    "hypothesis>=6.80",
    "fonttools>=4.40",
    "playwright>=1.40",
    "dockerfile-parse>=2.0",
    "build>=1.0",
]

DEV_REQUIRES = TEST_REQUIRES + [
    "ruff>=0.5",
    "pybadges>=3.0",
    "anybadge>=1.14",
]


def packages():
    """The Python packages, plus ``client`` when it is there.

    The browser client is static files; it travels as a package so that
    it installs beside the mirror that serves it, with or without an
    ``__init__.py`` of its own.
    """
    found = find_packages(include=["mirror", "mirror.*",
                                   "registry", "registry.*",
                                   "client", "client.*"])
    if (HERE / "client").is_dir() and "client" not in found:
        found.append("client")
    return found


setup(
    name="dockerhub-build-status",
    version=VERSION,
    description="Build-status badges for Docker Hub repositories, "
    "served by a federated network of mirrors",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    url=REPOSITORY,
    project_urls={
        "Source": REPOSITORY,
        "Issues": REPOSITORY + "/issues",
    },
    license="AGPL-3.0-or-later",
    license_files=["LICENSE"],
    keywords="docker dockerhub badge build-status ci mirror svg",
    python_requires=">=3.11",
    packages=packages(),
    package_data={
        "mirror": ["data/*.json", "templates/*"],
        "client": ["*.svg", "*.js", "*.json"],
    },
    zip_safe=False,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": TEST_REQUIRES,
        "dev": DEV_REQUIRES,
    },
    entry_points={
        "console_scripts": [
            "dockerhub-mirror = mirror.cli:main",
            "dockerhub-registry = registry.cli:main",
        ],
    },
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Environment :: Web Environment",
        "Framework :: Bottle",
        "Intended Audience :: Developers",
        "Intended Audience :: System Administrators",
        "License :: OSI Approved :: GNU Affero General Public License v3 "
        "or later (AGPLv3+)",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Application",
        "Topic :: Software Development :: Build Tools",
    ],
)
