"""eraformer's Python package: ctypes bindings to liberaformer.so (numpy; pandas optional).

Plain setup.py, no pyproject.toml: Debian 12's pip (23.0) then builds with the installed
setuptools and wheel instead of an isolated build environment, so `pip install ./python`
works offline. A liberaformer.so* copied into python/eraformer/ before installing is
installed with the package and found next to it.
"""
from setuptools import setup

setup(
    name="eraformer",
    version="0.1.0",
    description="Python bindings for eraformer (Numerai scoring, native parquet reader)",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=["eraformer"],
    package_data={"eraformer": ["liberaformer.so*"]},
    python_requires=">=3.9",
    install_requires=["numpy>=1.21"],
    extras_require={"pandas": ["pandas>=1.3"]},
    zip_safe=False,
)
