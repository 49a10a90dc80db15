import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (HERE / "mirror" / "__init__.py").read_text(),
    re.M,
).group(1)

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

setup(
    name="dockerhub-build-status",
    version=VERSION,
    description="Build-status badges for Docker Hub repositories, "
    "served by a federated network of mirrors",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["mirror", "mirror.*",
                                    "registry", "registry.*",
                                    "client", "client.*"]),
    package_data={
        "mirror": ["data/*.json", "templates/*"],
        "client": ["*.svg", "*.js", "*.json"],
    },
    include_package_data=True,
    install_requires=[
        "bottle>=0.13",
        "waitress>=2.1",
        "requests>=2.28",
        "cachetools>=5.0",
        "cryptography>=41",
    ],
    extras_require={
        "test": TEST_REQUIRES,
        "dev": TEST_REQUIRES + ["ruff>=0.5", "pybadges>=3.0",
                                "anybadge>=1.14"],
    },
    entry_points={
        "console_scripts": [
            "dockerhub-mirror = mirror.cli:main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "License :: OSI Approved :: GNU Affero General Public License v3 "
        "or later (AGPLv3+)",
        "Framework :: Bottle",
        "Topic :: Internet :: WWW/HTTP :: WSGI :: Application",
        "Operating System :: OS Independent",
    ],
)
