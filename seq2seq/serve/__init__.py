"""Serving: the app and its routes (app), what both protocols share (service), ours (ours),
LibreTranslate's (libre), HTML kept around translated text (markup), dynamic batching
(batcher) and the web page (web/)."""
