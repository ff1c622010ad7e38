"""`invoke deploy --target swarm`: the app of compose.yaml's x-deploy block as Docker Swarm
services on the configured ECS hosts, reached over the SSH transport of `invoke deploy`."""
