"""What plays, keys and stores: the match loop and the infrastructure around it.

match.py             one match: two algorithms learning against each other over S seeds
registry.py          zoo_configs/ names -> game and algorithm classes, validated
artifacts.py         the cache of pretrained artifacts under results/zoo/
sources.py           code versions from the import closure
runtime.py           threads and devices
training_monitor.py  progress and TensorBoard curves of pretraining runs
"""
