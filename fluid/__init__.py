"""curvine-fluid: the Fluid ThinRuntime entrypoint that mounts a Curvine path."""
