"""Cloud tooling: package, deploy and destroy a stage (see docs/deploy.md)."""
