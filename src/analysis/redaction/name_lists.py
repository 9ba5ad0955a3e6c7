"""Word lists used by :mod:`analysis.redaction.names` next to Faker's census-based name lists.

Faker's person providers (:func:`analysis.redaction.names.lexicon`) cover European, American, South
Asian, Latin American and romanised Chinese / Japanese names well, but hardly any Māori, Pacific or
Korean names (measured on the bundled sample: 69 of 258 names had a first name missing from Faker, and
Māori / Pacific surnames such as Ngata or Tuilagi were all missing). The supplement below holds common
Māori, Samoan, Tongan, Fijian, Cook Islands, Korean and Punjabi names. Macrons and okina may be
written or omitted (the lexicon folds them away).

``COMMON_WORDS`` are everyday words that also occur in the name lists (Faker's ``en`` list holds
"Council", "Will", "May"...). A capitalised common word is not taken for a first name on its own
(so "May Day", "Will Power" and "Grant Funding" stay); it still counts inside a sign-off.
"""

from __future__ import annotations

SUPPLEMENT_FIRST_NAMES = """
Aperahama Arapeta Ariana Aroha Awhina Erueti Hana Hata Hemi Hēmi Hera Hinemoa Hine Hirini Hohepa Hone
Huia Ihaia Kahurangi Kahu Karanama Kauri Keri Kiri Kiriana Kura Mahina Maia Manaia Marama Matiu Mātiu
Mereana Mere Mereama Mihi Mikaere Moana Ngaio Ngaire Nikau Paora Pania Pita Rāwiri Rawiri Rangi Rewi
Ropata Tama Tamati Tāmati Tāne Tane Tia Tipene Tui Whetu Wiremu Wikitoria Hōri Hori Mōhi Piripi Rēweti
Tamihana Tiaki Waiariki Ataahua Anahera Hinewai Kaea Maioha Nohorua Ranginui Taika Tawhiri
Siosaia Sione Losa Lose Mele Malia Salote Litia Ofa ʻOfa Viliami Tevita Semisi Mosese Iosefa Paulo Fetu
Tavita Sina Lagi Leilani Tupe Sefo Falaniko Penitoa Lupe Taulupe Ana Alofa Fuifui Iakopo Ioane Akanesi
Pita Ratu Vilisoni Sitiveni Sereana Losana Timote Makerita Mataio Tuaine Teina Tangaroa Ngamata Mataora
Mei Jun Ji-woo Jiwoo Min-jun Minjun Seo-yeon Seoyeon Ji-hoon Jihoon Hyun Hyun-woo Soo-ah Ha-eun Ye-jin
Seo-jun Do-yun Ji-ho Yuna Eun-ji Jae Sung Wei Xin Jing Ying Hao Jie Lei Ming Ning Qing Zhen Zhi Yuki
Deepak Harpreet Gurpreet Manpreet Jaspreet Amarjit Navdeep Simran Parminder Rajinder Balwinder Kuldeep
"""

SUPPLEMENT_SURNAMES = """
Ngata Henare Parata Tipene Mahuika Rāwiri Rawiri Hohaia Kereama Tamihana Waaka Wihongi Paewai Ruru Tawhiri
Whata Tautahi Ngapora Pōmare Pomare Rewiti Rangihau Karaka Hetaraka Horomona Rapana Potae Maihi Hapi
Herewini Paki Pene Piripi Poutama Tamatea Tautari Tawhai Timutimu Tipoki Turei Waititi Harawira Mita
Kingi Takerei Kawana Tomoana Ngatai Heke Tūhiwai Tuhiwai Whaanga Raukawa Marino Tahana Pohatu Ihaka
Tuilagi Vaifale Fonoti Faʻasalele Fa'asalele Tupou Taufa Leota Faleolo Fuimaono Tuiasosopo Sapolu Fifita
Havili Lolohea Naufahu Pulu Vainikolo Veikune Faʻalogo Fa'alogo Aiono Alofaituli Ioane Lemalu Masoe
Sopoaga Tagaloa Tauiliili Toleafoa Tuimavave Vaeluaga Tuipulotu Taumalolo Afamasaga Vaipulu Latu Moala
Kata Mahe Nawaqa Ratuva Qarase Tuivaga Tangitau Tuaine Marsters Tamarua Pokino Tatupu Samasoni Fuata
Kaur Singh Sandhu Gill Dhillon Sidhu Grewal Brar Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Shin
Seo Kwon Hwang Ahn Song Yoo Hong Jeon Ko Moon Yang Bae Baek Heo Nam Noh Ha Kwak Sung
"""

#: Nouns that follow a person's name in place and institution names ("Paul Walker Golf Course",
#: "Graves Gilbert Clinic", "Campbell Lane"): a full name followed by one of them is a place.
PLACE_NOUNS = frozenset(
    """
    academy arena airport avenue bank bay beach boulevard bridge building centre center church clinic
    college course court creek drive estate farm field fields forest gallery gardens golf hall heights
    highway hill hospital house institute lake lane library lodge mall memorial museum park parkway place
    plaza reserve ridge river road school square stadium station street terrace theatre theater tower
    trail trust university valley way
    """.split()
)

#: Everyday words that are also in the name lists; never a name on their own outside a sign-off.
COMMON_WORDS = frozenset(
    """
    a all also an and any april august autumn bank bay beach best bill black bless blue bond brook brown
    bush by can chance christian christmas church city clay coast council country court crown day dear
    deep do doctor east english ever faith fall field fields forest free friday general god gold golden good
    grand grant gray great green grey hall happy harbour has have haven he her hill his hope house i in is
    it judge june justice king lake land lane law liberty little long lord love lucky major march mark marsh
    may me mill mills minister monday moon more most my new no noble north not of on one or park parish
    peace per pine post power price prince queen rain rich river royal rule saint sand saturday say sea see
    shore sky small so some south spring star state stone storm street summer sun sunday the their they this
    thursday to town tuesday under union unity up us victory water way we wednesday well west white will
    win winter with wood woods young
    about after as at be because but did does every for from get go had here how if into its just let
    many much off our out over should since than that then there these those too was were what when where
    which while who why would yet you your
    """.split()
)
