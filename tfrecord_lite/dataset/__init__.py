"""The writing side: knows ModelPack and our JSON format, knows nothing of Ground Truth."""
