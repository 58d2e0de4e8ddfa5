from whisper_assets.cli import app

app(prog_name="whisper-assets")
