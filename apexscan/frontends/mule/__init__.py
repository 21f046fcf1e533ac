"""Mule 4 applications: flows (`flows`), DataWeave (`dataweave`, `scripts`), property files
(`properties`), the Maven project (`project`) and where an app's files are (`layout`)."""
from apexscan.frontends.mule.flows import lower_mule
from apexscan.frontends.mule.project import parse_mule_project
from apexscan.frontends.mule.properties import parse_property_file
from apexscan.frontends.mule.scripts import lower_dataweave

__all__ = ["lower_dataweave", "lower_mule", "parse_mule_project", "parse_property_file"]
