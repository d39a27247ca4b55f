//! One pattern for the enums whose variants have a name outside the code (a metric label, a
//! map slot): the variants are listed once, with their names, and the macro gives the enum
//! (numbered from 0 in that order), `ALL` in that order, `COUNT` and `name()`.

/// `named_enum! { /// doc  pub enum E { /// doc  A = "a", B = "b", } }`
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            pub const COUNT: usize = [$( $label ),+].len();
            pub const ALL: [$name; Self::COUNT] = [$( $name::$variant ),+];

            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $label, )+
                }
            }

            pub fn from_name(s: &str) -> Option<$name> {
                Self::ALL.into_iter().find(|v| v.name() == s)
            }
        }
    };
}
