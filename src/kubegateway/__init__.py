"""kubegateway: multi-tenant Redis over HTTP."""

__version__ = "0.1.0"
