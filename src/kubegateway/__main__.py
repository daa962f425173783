from kubegateway.cli.main import app

app()
