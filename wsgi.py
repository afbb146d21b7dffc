from lovemart import create_app

app = create_app()
