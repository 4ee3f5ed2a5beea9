"""Live containers: engine endpoint, read-only gateway, facts -> findings, drift, evidence.

Nothing in this package changes a container or an image, and nothing imports the docker SDK
at module import time (only :class:`batten.live.gateway.DockerGateway` does, when first used).
"""
