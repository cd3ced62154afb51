from ideogram_assets_cli.app import main

main()
