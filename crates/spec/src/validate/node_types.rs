//! ElastiCache node types, known offline: `cache.<family>.<size>` and what each family
//! supports. Whether a type is offered in a given region is asked of AWS at plan.

/// A node type family and the sizes ElastiCache sells in it.
struct Family {
    name: &'static str,
    sizes: &'static [&'static str],
}

const LARGE_TO_16X: &[&str] = &[
    "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
];
const BURSTABLE: &[&str] = &["micro", "small", "medium"];

/// Current-generation families (ElastiCache user guide, "Supported node types").
const FAMILIES: &[Family] = &[
    Family {
        name: "t2",
        sizes: BURSTABLE,
    },
    Family {
        name: "t3",
        sizes: BURSTABLE,
    },
    Family {
        name: "t4g",
        sizes: BURSTABLE,
    },
    Family {
        name: "m4",
        sizes: &["large", "xlarge", "2xlarge", "4xlarge", "10xlarge"],
    },
    Family {
        name: "m5",
        sizes: &[
            "large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge",
        ],
    },
    Family {
        name: "m6g",
        sizes: LARGE_TO_16X,
    },
    Family {
        name: "m7g",
        sizes: LARGE_TO_16X,
    },
    Family {
        name: "r4",
        sizes: &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge",
        ],
    },
    Family {
        name: "r5",
        sizes: &[
            "large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge",
        ],
    },
    Family {
        name: "r6g",
        sizes: LARGE_TO_16X,
    },
    Family {
        name: "r6gd",
        sizes: &[
            "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    },
    Family {
        name: "r7g",
        sizes: LARGE_TO_16X,
    },
    Family {
        name: "c7gn",
        sizes: LARGE_TO_16X,
    },
];

/// Previous-generation families. The stack always encrypts at rest and (by default) in
/// transit; the user guide lists these without encryption support (*unconfirmed* for
/// every one of them, so the stricter reading is taken: they are refused).
const PREVIOUS_GENERATION: &[&str] = &["t1", "m1", "m2", "m3", "c1", "r3"];

/// Why `node_type` is not an ElastiCache node type the stack can use, if it is not.
pub(super) fn node_type_problem(node_type: &str) -> Option<String> {
    let shown = node_type;
    let mut parts = node_type.split('.');
    let (Some("cache"), Some(family), Some(size), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Some(format!(
            "`{shown}` is not a node type such as cache.t4g.small or cache.r7g.large"
        ));
    };
    if PREVIOUS_GENERATION.contains(&family) {
        return Some(format!(
            "`{shown}` is a previous-generation node type, which cannot encrypt data; choose a current one such as cache.t4g.small or cache.r7g.large"
        ));
    }
    let Some(known) = FAMILIES.iter().find(|f| f.name == family) else {
        let names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
        return Some(format!(
            "`{shown}`: ElastiCache has no node family `{}` (families: {})",
            family,
            names.join(", ")
        ));
    };
    (!known.sizes.contains(&size)).then(|| {
        format!(
            "`{shown}`: the {family} family comes in {}",
            known.sizes.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::node_type_problem;

    #[test]
    fn current_node_types_pass_and_others_say_why() {
        for good in ["cache.t4g.micro", "cache.r6gd.xlarge", "cache.m7g.16xlarge"] {
            assert_eq!(node_type_problem(good), None, "{good}");
        }
        let banana = node_type_problem("cache.banana.huge").expect("refused");
        assert!(banana.contains("no node family `banana`"), "{banana}");
        let size = node_type_problem("cache.t4g.huge").expect("refused");
        assert!(size.contains("micro, small, medium"), "{size}");
        assert!(
            node_type_problem("cache.m3.large")
                .expect("refused")
                .contains("previous-generation")
        );
        assert!(
            node_type_problem("t4g.micro")
                .expect("refused")
                .contains("not a node type")
        );
    }
}
