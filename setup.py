"""Packaging that pyproject.toml cannot say: the page scripts and the sample data travel inside the packages.

In a checkout they are the top-level folders ``pages/`` and ``sample_data/``; a wheel carries them
as ``designer_app/pages`` and ``rmlp/sample_data``, where :data:`designer_app.PAGES` and
:func:`rmlp.data.samples.sample_dir` look first.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["rmlp", "rmlp.*", "designer_app", "designer_app.*"],
                                       exclude=["*.__pycache__"]), "designer_app.pages", "rmlp.sample_data"],
    package_dir={"designer_app.pages": "pages", "rmlp.sample_data": "sample_data"},
)
