from whisper_assets.interfaces.cli.app import app

app(prog_name="whisper-assets")
