"""Writers for the formats other tools read: OpenTimelineIO (and the adapters it has installed, such as
CMX 3600 EDL) for editors, WebDataset tar shards for training pipelines."""
