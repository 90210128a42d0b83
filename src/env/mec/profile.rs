//! The config-file form of [`MecConfig`]: `profile = "…"` picks the preset ([`MecProfile`],
//! docs/mec.md "Profiles") the other fields start from; fields given beside it override it.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::config::{MecConfig, MecProfile};

impl Serialize for MecConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MecConfig::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for MecConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // A TOML table as the go-between: it keeps NaN and ±inf (which `validate` then names).
        let given = toml::Table::deserialize(d)?;
        let profile = match given.get("profile") {
            Some(v) => MecProfile::deserialize(v.clone()).map_err(|e| D::Error::custom(format!("mec.profile: {e}")))?,
            None => MecProfile::default(),
        };
        let mut merged = match toml::Value::try_from(profile.config()) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(D::Error::custom("mec: the profile does not serialize to a table")),
        };
        // A given field replaces the preset's.
        merged.extend(given);
        MecConfig::deserialize(toml::Value::Table(merged)).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        mec: MecConfig,
    }

    fn parse(s: &str) -> std::result::Result<MecConfig, toml::de::Error> {
        toml::from_str::<File>(s).map(|f| f.mec)
    }

    #[test]
    fn profiles_are_defaults_that_fields_override() {
        assert_eq!(parse("[mec]\n").unwrap(), MecConfig::default());
        let c = parse("[mec]\nprofile = \"calibrated\"\nn_iotd = 50\n").unwrap();
        assert_eq!(c, MecConfig { n_iotd: 50, ..MecProfile::Calibrated.config() });
        assert_eq!(c.beta0, 1e-4);
        // The CLI's names are the config file's.
        for p in [MecProfile::Mecrl, MecProfile::Calibrated] {
            assert_eq!(MecProfile::parse(p.name()).unwrap(), p);
            assert_eq!(parse(&format!("[mec]\nprofile = \"{}\"\n", p.name())).unwrap().profile, p);
        }
        assert!(MecProfile::parse("paper").unwrap_err().to_string().contains("mec.profile"));
        let c = parse("[mec]\nprofile = \"calibrated\"\nbeta0 = 2e-4\ntask_bits_max = 9e5\n").unwrap();
        assert_eq!((c.profile, c.beta0, c.task_bits_max), (MecProfile::Calibrated, 2e-4, Some(9e5)));
        // Round trip: a written config reads back the same.
        let text = toml::to_string(&c).unwrap();
        assert_eq!(toml::from_str::<MecConfig>(&text).unwrap(), c);
    }

    #[test]
    fn bad_profiles_and_fields_are_errors_naming_them() {
        let e = parse("[mec]\nprofile = \"paper\"\n").unwrap_err().to_string();
        assert!(e.contains("mec.profile") && e.contains("paper"), "{e}");
        let e = parse("[mec]\nbeta = 1.0\n").unwrap_err().to_string();
        assert!(e.contains("beta"), "{e}");
        let e = parse("[mec]\nbeta0 = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("invalid type"), "{e}");
        // NaN and infinities reach `validate`, which names the field.
        let c = parse("[mec]\nbeta0 = nan\narea_m = inf\n").unwrap();
        assert!(c.beta0.is_nan() && c.area_m.is_infinite());
        assert!(c.validate().unwrap_err().to_string().contains("mec.area_m"));
    }
}
