//! Built-in reference data for the demo shop: regions, countries, names, categories, products.
//!
//! Everything here is hand-written so the demo needs no external data and stays identical
//! everywhere. Row ids are positions in these lists plus one. The tables skip rustfmt so they
//! keep one row per line.

/// A sales region; customers belong to one through their country.
pub(super) struct Region {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    /// Multiplies the signup weight of this region's countries for customers joining in
    /// 2024-2025, so regions grow at different speeds instead of in lockstep.
    pub(super) growth: f64,
    /// Names are per region so a customer's name fits their city.
    pub(super) first_names: &'static [&'static str],
    pub(super) last_names: &'static [&'static str],
}

#[rustfmt::skip]
pub(super) const REGIONS: &[Region] = &[
    Region {
        code: "EU",
        name: "Europe",
        growth: 1.0,
        first_names: &[
            "Anna", "Lukas", "Sophie", "Matteo", "Emma", "Louis", "Julia", "Jan", "Clara", "Hugo",
            "Lea", "Pablo", "Elena", "Oliver", "Marta", "Finn", "Ines", "Erik", "Chloe", "Tomasz",
        ],
        last_names: &[
            "Schmidt", "Muller", "Rossi", "Martin", "Garcia", "Smith", "Jansen", "Novak", "Bernard",
            "Fischer", "Lopez", "Kowalski", "Andersson", "Ricci", "Dubois", "Brown", "Weber",
            "Visser", "Moreau", "Taylor",
        ],
    },
    Region {
        code: "NA",
        name: "North America",
        growth: 0.9,
        first_names: &[
            "James", "Olivia", "Michael", "Ava", "Ethan", "Mia", "Daniel", "Harper", "Noah",
            "Emily", "Logan", "Abigail", "Lucas", "Madison", "Carter", "Grace", "Wyatt", "Chloe",
            "Jackson", "Riley",
        ],
        last_names: &[
            "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
            "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
            "Allen", "Tremblay", "Roy",
        ],
    },
    Region {
        code: "APAC",
        name: "Asia Pacific",
        growth: 1.6,
        first_names: &[
            "Hiroshi", "Yuki", "Wei", "Mei", "Arjun", "Priya", "Min-jun", "Ji-woo", "Jack",
            "Charlotte", "Kenji", "Sakura", "Rahul", "Ananya", "Liam", "Isla", "Haruto", "Aiko",
            "Ravi", "Ruby",
        ],
        last_names: &[
            "Tanaka", "Suzuki", "Sato", "Chen", "Wang", "Lim", "Tan", "Sharma", "Patel", "Kumar",
            "Kim", "Lee", "Park", "Nguyen", "Smith", "Wilson", "Kelly", "Watanabe", "Singh",
            "Yamamoto",
        ],
    },
    Region {
        code: "LATAM",
        name: "Latin America",
        growth: 1.3,
        first_names: &[
            "Santiago", "Valentina", "Mateo", "Camila", "Sebastian", "Isabella", "Diego", "Mariana",
            "Gabriel", "Lucia", "Joao", "Ana", "Pedro", "Julieta", "Rafael", "Beatriz", "Tomas",
            "Daniela", "Nicolas", "Fernanda",
        ],
        last_names: &[
            "Silva", "Santos", "Oliveira", "Souza", "Hernandez", "Garcia", "Martinez", "Lopez",
            "Gonzalez", "Rodriguez", "Perez", "Sanchez", "Ramirez", "Torres", "Flores", "Rojas",
            "Costa", "Pereira", "Alvarez", "Gomez",
        ],
    },
    Region {
        code: "MEA",
        name: "Middle East & Africa",
        growth: 1.2,
        first_names: &[
            "Omar", "Layla", "Ahmed", "Fatima", "Yusuf", "Amina", "David", "Noa", "Thabo", "Zanele",
            "Chinedu", "Ngozi", "Karim", "Yasmin", "Ari", "Tamar", "Sipho", "Lerato", "Tunde",
            "Sara",
        ],
        last_names: &[
            "Hassan", "Ali", "Mansour", "Haddad", "Cohen", "Levi", "Mizrahi", "Nkosi", "Dlamini",
            "Naidoo", "Botha", "Okafor", "Adeyemi", "Eze", "Abdullah", "Farouk", "Mahlangu",
            "Van der Merwe", "Ibrahim", "Peretz",
        ],
    },
];

/// A country customers live in. `weight` is its relative share of customers.
pub(super) struct Country {
    pub(super) name: &'static str,
    /// Index into [`REGIONS`].
    pub(super) region: usize,
    pub(super) weight: u32,
    /// Largest city first: earlier cities get more customers.
    pub(super) cities: &'static [&'static str],
}

/// Short constructor so the table below stays one line per country.
const fn country(
    name: &'static str,
    region: usize,
    weight: u32,
    cities: &'static [&'static str],
) -> Country {
    Country {
        name,
        region,
        weight,
        cities,
    }
}

const EU: usize = 0;
const NA: usize = 1;
const APAC: usize = 2;
const LATAM: usize = 3;
const MEA: usize = 4;

#[rustfmt::skip]
pub(super) const COUNTRIES: &[Country] = &[
    country("Germany", EU, 9, &["Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt"]),
    country("United Kingdom", EU, 9, &["London", "Manchester", "Birmingham", "Leeds", "Glasgow"]),
    country("France", EU, 6, &["Paris", "Lyon", "Marseille", "Toulouse"]),
    country("Netherlands", EU, 3, &["Amsterdam", "Rotterdam", "Utrecht"]),
    country("Spain", EU, 4, &["Madrid", "Barcelona", "Valencia", "Seville"]),
    country("Italy", EU, 4, &["Milan", "Rome", "Turin", "Naples"]),
    country("Sweden", EU, 2, &["Stockholm", "Gothenburg", "Malmo"]),
    country("Poland", EU, 2, &["Warsaw", "Krakow", "Wroclaw"]),
    country("United States", NA, 24, &[
        "New York", "Los Angeles", "Chicago", "Houston", "San Francisco", "Seattle", "Boston",
        "Austin", "Denver", "Atlanta",
    ]),
    country("Canada", NA, 5, &["Toronto", "Vancouver", "Montreal", "Calgary"]),
    country("Japan", APAC, 5, &["Tokyo", "Osaka", "Yokohama"]),
    country("Australia", APAC, 4, &["Sydney", "Melbourne", "Brisbane", "Perth"]),
    country("India", APAC, 4, &["Bengaluru", "Mumbai", "Delhi", "Pune"]),
    country("Singapore", APAC, 2, &["Singapore"]),
    country("South Korea", APAC, 2, &["Seoul", "Busan"]),
    country("New Zealand", APAC, 1, &["Auckland", "Wellington"]),
    country("Brazil", LATAM, 4, &["Sao Paulo", "Rio de Janeiro", "Belo Horizonte"]),
    country("Mexico", LATAM, 3, &["Mexico City", "Guadalajara", "Monterrey"]),
    country("Argentina", LATAM, 1, &["Buenos Aires", "Cordoba"]),
    country("Chile", LATAM, 1, &["Santiago", "Valparaiso"]),
    country("Colombia", LATAM, 1, &["Bogota", "Medellin"]),
    country("United Arab Emirates", MEA, 2, &["Dubai", "Abu Dhabi"]),
    country("South Africa", MEA, 2, &["Johannesburg", "Cape Town", "Durban"]),
    country("Israel", MEA, 1, &["Tel Aviv", "Haifa"]),
    country("Nigeria", MEA, 1, &["Lagos", "Abuja"]),
    country("Egypt", MEA, 1, &["Cairo", "Alexandria"]),
];

/// Reserved example domains (RFC 2606) so no generated address can reach a real person.
pub(super) const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "inbox.example",
];

/// When a category sells best, on top of the shop-wide seasonality.
#[derive(Clone, Copy)]
pub(super) enum Season {
    Flat,
    /// Outdoor gear: strong in summer, weak in winter.
    Summer,
    /// Typical presents: extra lift in November and December.
    Gifting,
}

impl Season {
    /// Relative demand for the category in a month (1-12).
    pub(super) fn factor(self, month: u32) -> f64 {
        const SUMMER: [f64; 12] = [0.6, 0.6, 0.8, 1.1, 1.5, 1.9, 2.0, 1.7, 1.1, 0.8, 0.6, 0.7];
        const GIFTING: [f64; 12] = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.4, 1.7];
        let i = (month as usize).saturating_sub(1).min(11);
        match self {
            Season::Flat => 1.0,
            Season::Summer => SUMMER[i],
            Season::Gifting => GIFTING[i],
        }
    }
}

pub(super) struct Category {
    pub(super) name: &'static str,
    /// Prefix of the products' SKUs.
    pub(super) sku_prefix: &'static str,
    /// Gross margin range of its products (share of the price that is not cost).
    pub(super) margin: (f64, f64),
    pub(super) season: Season,
}

const fn category(
    name: &'static str,
    sku_prefix: &'static str,
    margin: (f64, f64),
    season: Season,
) -> Category {
    Category {
        name,
        sku_prefix,
        margin,
        season,
    }
}

#[rustfmt::skip]
pub(super) const CATEGORIES: &[Category] = &[
    category("Computers", "CMP", (0.10, 0.20), Season::Flat),
    category("Phones & Tablets", "PHN", (0.12, 0.22), Season::Gifting),
    category("Audio", "AUD", (0.30, 0.45), Season::Gifting),
    category("Accessories", "ACC", (0.50, 0.70), Season::Flat),
    category("Smart Home", "HOM", (0.28, 0.40), Season::Flat),
    category("Kitchen", "KIT", (0.32, 0.45), Season::Gifting),
    category("Outdoor & Sports", "OUT", (0.38, 0.50), Season::Summer),
    category("Gaming", "GAM", (0.08, 0.30), Season::Gifting),
];

const CMP: usize = 0;
const PHN: usize = 1;
const AUD: usize = 2;
const ACC: usize = 3;
const HOM: usize = 4;
const KIT: usize = 5;
const OUT: usize = 6;
const GAM: usize = 7;

/// A product in the catalogue; `price` is the list price in the shop's currency.
pub(super) struct Product {
    pub(super) name: &'static str,
    /// Index into [`CATEGORIES`].
    pub(super) category: usize,
    pub(super) price: f64,
}

const fn product(name: &'static str, category: usize, price: f64) -> Product {
    Product {
        name,
        category,
        price,
    }
}

#[rustfmt::skip]
pub(super) const PRODUCTS: &[Product] = &[
    product("Aero 13 Laptop", CMP, 999.00),
    product("Aero 15 Laptop", CMP, 1299.00),
    product("Forge 16 Gaming Laptop", CMP, 1899.00),
    product("Chromebook Go 11", CMP, 279.00),
    product("Studio Mini PC", CMP, 649.00),
    product("Workstation Tower Pro", CMP, 2399.00),
    product("24in FHD Monitor", CMP, 169.00),
    product("27in 4K Monitor", CMP, 429.00),
    product("34in Ultrawide Monitor", CMP, 599.00),
    product("USB-C Docking Station", CMP, 189.00),
    product("Nova 8 Smartphone", PHN, 699.00),
    product("Nova 8 Pro Smartphone", PHN, 999.00),
    product("Lite 5 Smartphone", PHN, 299.00),
    product("Slate 10 Tablet", PHN, 399.00),
    product("Slate 12 Pro Tablet", PHN, 899.00),
    product("Kids Tablet 8", PHN, 129.00),
    product("Paper E-Reader", PHN, 149.00),
    product("Pulse Smartwatch", PHN, 249.00),
    product("Fitness Band Lite", PHN, 59.99),
    product("Studio Over-Ear Headphones", AUD, 349.00),
    product("Commuter ANC Headphones", AUD, 199.00),
    product("True Wireless Earbuds", AUD, 129.00),
    product("Sport Earbuds", AUD, 79.00),
    product("Bookshelf Speakers (pair)", AUD, 299.00),
    product("Portable Bluetooth Speaker", AUD, 89.00),
    product("Soundbar 3.1", AUD, 449.00),
    product("Smart Speaker Mini", AUD, 49.00),
    product("Classic Turntable", AUD, 279.00),
    product("USB Podcast Microphone", AUD, 119.00),
    product("USB-C Charger 65W", ACC, 39.00),
    product("USB-C Cable 2m", ACC, 14.99),
    product("Wireless Charging Pad", ACC, 29.99),
    product("Power Bank 20000mAh", ACC, 49.99),
    product("Laptop Sleeve 14in", ACC, 29.99),
    product("Clear Phone Case", ACC, 19.99),
    product("Screen Protector (2-pack)", ACC, 12.99),
    product("Wireless Mouse", ACC, 24.99),
    product("Mechanical Keyboard", ACC, 119.00),
    product("HDMI Cable 2m", ACC, 9.99),
    product("1080p Webcam", ACC, 69.00),
    product("Color Smart Bulb (4-pack)", HOM, 59.99),
    product("Smart Plug (2-pack)", HOM, 24.99),
    product("Video Doorbell", HOM, 149.00),
    product("Indoor Security Camera", HOM, 79.00),
    product("Smart Thermostat", HOM, 199.00),
    product("Mesh Wi-Fi Router (3-pack)", HOM, 279.00),
    product("Robot Vacuum S5", HOM, 349.00),
    product("Smart Lock", HOM, 229.00),
    product("Air Purifier 300", HOM, 189.00),
    product("Barista Espresso Machine", KIT, 549.00),
    product("Drip Coffee Maker", KIT, 79.00),
    product("Burr Coffee Grinder", KIT, 129.00),
    product("Electric Kettle", KIT, 49.00),
    product("Air Fryer 5L", KIT, 119.00),
    product("Blender Pro 1200W", KIT, 149.00),
    product("Stand Mixer", KIT, 399.00),
    product("2-Slice Toaster", KIT, 39.99),
    product("Chef's Knife 8in", KIT, 89.00),
    product("Cast Iron Skillet 12in", KIT, 45.00),
    product("Trail Running Shoes", OUT, 129.00),
    product("Hiking Backpack 35L", OUT, 109.00),
    product("2-Person Camping Tent", OUT, 189.00),
    product("3-Season Sleeping Bag", OUT, 99.00),
    product("Insulated Water Bottle", OUT, 29.99),
    product("Yoga Mat", OUT, 34.99),
    product("Adjustable Dumbbells (pair)", OUT, 299.00),
    product("4K Action Camera", OUT, 249.00),
    product("Bike Light Set", OUT, 39.99),
    product("Camping Stove", OUT, 59.00),
    product("Game Console X", GAM, 499.00),
    product("Portable Game Console", GAM, 299.00),
    product("Wireless Controller", GAM, 64.99),
    product("Gaming Headset", GAM, 99.00),
    product("Gaming Mouse", GAM, 59.99),
    product("Racing Wheel", GAM, 349.00),
    product("VR Headset", GAM, 429.00),
    product("Gaming Chair", GAM, 279.00),
    product("Capture Card", GAM, 159.00),
];
