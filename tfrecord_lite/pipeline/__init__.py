"""The converter: Ground Truth manifest -> samples -> split -> encode -> shards -> dataset_info
-> publish, one stage a module (``convert.py`` runs them in order)."""
